package outreach

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/frontdesk-health/frontdesk/shared/clinic"
	"github.com/frontdesk-health/frontdesk/shared/outbound"
	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// SendNow sends a prepared job from the clinic's number in the caller's process:
// the inbound service's answer to a patient who is waiting for it, which an SQS
// hop would only delay. It runs the code that sends the queue's prepared jobs: the
// opt-out, window and expiry re-checks, the once-only claim on the job's key, a
// slot of the number's budget at the job's priority (booked up to a second ahead
// and waited for), the recipient's pair slot (taken, not waited for), the Graph
// call and the message log. onSent, when set, runs once Meta accepted the message,
// before the message log has it (the inbox applies Meta's statuses once the log has
// the message, so what onSent records is there for them).
//
// The wamid is returned when the message went out. ("", nil): it is not sent here
// and the caller has nothing more to do: it was refused (opted out, window closed,
// expired), already sent, failed for good, or it must wait and is on the outbound
// queue (Requeue is a JobRequeuer), where the sender sends it when it may. An
// error: nothing was sent and the claim is released, so a retry of the caller's
// work sends it.
func (s *Sender) SendNow(ctx context.Context, c clinic.Clinic, job outbound.Job, onSent func(ctx context.Context, wamid string)) (string, error) {
	j := &sendJob{out: job, job: job.Job, now: true, onSent: onSent}
	j.log = s.Logger.With(platform.WAMID("job_key", job.Key), slog.String("clinic_id", job.ClinicID),
		slog.String("type", string(job.Type)))
	if msg := malformed(job, nil); msg != "" {
		return "", fmt.Errorf("outreach: send now: %s", msg)
	}
	o := s.sendPreparedFrom(ctx, j, c)
	switch {
	case !o.fail:
		return j.wamid, nil
	case o.wait:
		if _, ok := s.Requeue.(JobRequeuer); ok {
			if err := s.requeue(ctx, j, o); err != nil {
				return "", fmt.Errorf("outreach: queue %s after %s: %w", job.Type, o.reason, err)
			}
			return "", nil
		}
	}
	return "", fmt.Errorf("outreach: send %s now: %s", job.Type, o.reason)
}
