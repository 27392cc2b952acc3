package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"
)

func TestMetricIsEmbeddedMetricFormat(t *testing.T) {
	var buf bytes.Buffer
	clock := NewFakeClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	Count(context.Background(), NewLogger(&buf, nil), clock, MetricSendsByStatus, DimStatus, "sent")
	var rec struct {
		AWS struct {
			Timestamp         int64 `json:"Timestamp"`
			CloudWatchMetrics []struct {
				Namespace  string              `json:"Namespace"`
				Dimensions [][]string          `json:"Dimensions"`
				Metrics    []map[string]string `json:"Metrics"`
			} `json:"CloudWatchMetrics"`
		} `json:"_aws"`
		Status        string  `json:"Status"`
		SendsByStatus float64 `json:"SendsByStatus"`
	}
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	m := rec.AWS.CloudWatchMetrics
	if rec.AWS.Timestamp != clock.Now().UnixMilli() || len(m) != 1 || m[0].Namespace != "Frontdesk" ||
		len(m[0].Dimensions) != 1 || len(m[0].Dimensions[0]) != 1 || m[0].Dimensions[0][0] != "Status" ||
		m[0].Metrics[0]["Name"] != "SendsByStatus" || m[0].Metrics[0]["Unit"] != "Count" || rec.Status != "sent" || rec.SendsByStatus != 1 {
		t.Fatalf("not an EMF record CloudWatch would accept: %s", buf.String())
	}
	buf.Reset()
	Seconds(context.Background(), NewLogger(&buf, nil), clock, MetricSweepLag, 90*time.Second)
	if !bytes.Contains(buf.Bytes(), []byte(`"Dimensions":[[]]`)) || !bytes.Contains(buf.Bytes(), []byte(`"SweepLagSeconds":90`)) {
		t.Fatalf("dimensionless metric: %s", buf.String())
	}
}
