package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/frontdesk-health/frontdesk/shared/fault"
	"github.com/frontdesk-health/frontdesk/shared/staff"
)

// Console sessions and logins in flight live in the idempotency table: they are
// short-lived keys (at most 12 h) that DynamoDB's TTL removes, the same retention
// class. Keys are digests of the cookie or state value, never the value itself, so
// reading the table does not yield a usable session.
const (
	prefixStaffSession = "STAFFSESS#"
	prefixStaffLogin   = "STAFFLOGIN#"
)

type staffSessionItem struct {
	PK        string    `dynamodbav:"pk"`
	Subject   string    `dynamodbav:"subject"`
	Name      string    `dynamodbav:"name"`
	Clinics   []string  `dynamodbav:"clinics,stringset,omitempty"`
	CSRF      string    `dynamodbav:"csrf"`
	SignedIn  time.Time `dynamodbav:"signedIn"`
	LastSeen  time.Time `dynamodbav:"lastSeen"`
	ExpiresAt time.Time `dynamodbav:"expiresAt,unixtime"`
}

type staffLoginItem struct {
	PK        string    `dynamodbav:"pk"`
	Verifier  string    `dynamodbav:"verifier"`
	Nonce     string    `dynamodbav:"nonce"`
	ReturnTo  string    `dynamodbav:"returnTo"`
	StartedAt time.Time `dynamodbav:"startedAt"`
	ExpiresAt time.Time `dynamodbav:"expiresAt,unixtime"`
}

// PutStaffSession stores (or refreshes) a console session under the digest key.
func (s *Store) PutStaffSession(ctx context.Context, key string, ss staff.Session) error {
	op := "put staff session"
	item, err := marshal(staffSessionItem{PK: prefixStaffSession + key, Subject: ss.Subject, Name: ss.Name, Clinics: ss.Clinics,
		CSRF: ss.CSRF, SignedIn: ss.SignedIn, LastSeen: ss.LastSeen, ExpiresAt: ss.ExpiresAt()})
	if err != nil {
		return fmt.Errorf("dynamo: %s: %w", op, err)
	}
	return wrap(op, s.put(ctx, s.names.Idempotency, item, nil))
}

// RefreshStaffSession records a request at lastSeen, extending the idle timer, only
// while the session exists: a page load racing a sign-out must not bring it back.
// A missing session is fault.ErrNotFound.
func (s *Store) RefreshStaffSession(ctx context.Context, key string, ss staff.Session) error {
	op := "refresh staff session"
	upd := expression.Set(expression.Name("lastSeen"), expression.Value(ss.LastSeen)).
		Set(expression.Name(AttrExpiresAt), expression.Value(ss.ExpiresAt().Unix()))
	err := s.update(ctx, s.names.Idempotency, prefixStaffSession+key, "", upd, condPtr(nPK.AttributeExists()))
	if conditionFailed(err) {
		return notFound(op)
	}
	return wrap(op, err)
}

// GetStaffSession reads a session; a missing one is fault.ErrNotFound. The
// caller checks expiry on its own clock: TTL deletion is only eventual.
func (s *Store) GetStaffSession(ctx context.Context, key string) (staff.Session, error) {
	op := "get staff session"
	var it staffSessionItem
	ok, err := s.getItem(ctx, s.names.Idempotency, prefixStaffSession+key, "", &it)
	if err != nil {
		return staff.Session{}, wrap(op, err)
	}
	if !ok {
		return staff.Session{}, notFound(op)
	}
	return staff.Session{Subject: it.Subject, Name: it.Name, Clinics: it.Clinics, CSRF: it.CSRF,
		SignedIn: it.SignedIn, LastSeen: it.LastSeen}, nil
}

// DeleteStaffSession ends a session; deleting a missing one is not an error.
func (s *Store) DeleteStaffSession(ctx context.Context, key string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.names.Idempotency), Key: itemKey(prefixStaffSession+key, ""),
	})
	return wrap("delete staff session", err)
}

// PutStaffLogin stores a sign-in in flight under the digest of its state value.
func (s *Store) PutStaffLogin(ctx context.Context, key string, l staff.Login) error {
	op := "put staff login"
	item, err := marshal(staffLoginItem{PK: prefixStaffLogin + key, Verifier: l.Verifier, Nonce: l.Nonce,
		ReturnTo: l.ReturnTo, StartedAt: l.StartedAt, ExpiresAt: l.StartedAt.Add(staff.LoginTimeout)})
	if err != nil {
		return fmt.Errorf("dynamo: %s: %w", op, err)
	}
	return wrap(op, s.put(ctx, s.names.Idempotency, item, condPtr(nPK.AttributeNotExists())))
}

// TakeStaffLogin deletes a sign-in in flight and returns it, so an authorization
// code's callback can be completed once only; a missing one is fault.ErrNotFound.
func (s *Store) TakeStaffLogin(ctx context.Context, key string) (staff.Login, error) {
	op := "take staff login"
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.names.Idempotency), Key: itemKey(prefixStaffLogin+key, ""),
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return staff.Login{}, wrap(op, err)
	}
	if len(out.Attributes) == 0 {
		return staff.Login{}, fmt.Errorf("dynamo: %s: %w", op, fault.ErrNotFound)
	}
	var it staffLoginItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return staff.Login{}, fmt.Errorf("dynamo: %s: decode: %w", op, err)
	}
	return staff.Login{Verifier: it.Verifier, Nonce: it.Nonce, ReturnTo: it.ReturnTo, StartedAt: it.StartedAt}, nil
}
