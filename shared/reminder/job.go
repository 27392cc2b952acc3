package reminder

import "time"

// Job is the outbound-queue message for one reminder. The sender re-reads everything
// else at send time; Generation tells it whether the appointment moved since.
type Job struct {
	ClinicID      string    `json:"clinicId"`
	AppointmentID string    `json:"appointmentId"`
	Kind          Kind      `json:"kind"`
	Generation    string    `json:"generation"`
	DueAt         time.Time `json:"dueAt"`
	// NotBefore holds a job back longer than SQS's 15-minute delivery delay (quiet
	// hours): a sender receiving it earlier enqueues it again, unread and unsent.
	NotBefore time.Time `json:"notBefore,omitzero"`
}

// ID is the job's stable identity (SQS batch entry ids and logs use it).
func (j Job) ID() string {
	return j.ClinicID + "/" + j.AppointmentID + "/" + string(j.Kind) + "/" + j.Generation
}
