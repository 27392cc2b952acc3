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
}

// ID is the job's stable identity (SQS batch entry ids and logs use it).
func (j Job) ID() string {
	return j.ClinicID + "/" + j.AppointmentID + "/" + string(j.Kind) + "/" + j.Generation
}
