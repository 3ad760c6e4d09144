package conf

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/config"
)

func TestDefaultValidAndSample(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := config.Sample(&buf, &c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[DEFAULT]", "#vif_plugging_timeout = ", "[quota]", "#instances = 10", "[scheduler]",
		"#max_attempts = 3", "[filter_scheduler]", "#enabled_filters = ComputeFilter", "#compute_driver = fake"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("sample lacks %q", want)
		}
	}
}

func TestApplyAndValidate(t *testing.T) {
	c := Default()
	f, err := config.Parse(strings.NewReader(`
[DEFAULT]
vif_plugging_timeout = 5
compute_driver = libvirt.LibvirtDriver
allow_resize_to_same_host = false
[scheduler]
max_attempts = 5
[filter_scheduler]
enabled_filters = ComputeFilter,RamFilter
ram_weight_multiplier = -1.0
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.Apply(&c, f); err != nil {
		t.Fatal(err)
	}
	if c.Default.VIFPluggingTimeout != 5*time.Second || c.Default.AllowResizeToSameHost || c.Scheduler.MaxAttempts != 5 || c.Default.ComputeDriver != "libvirt.LibvirtDriver" {
		t.Fatalf("applied: %+v", c)
	}
	sc := c.SchedulerConfig()
	if sc.MaxAttempts != 5 || len(sc.EnabledFilters) != 2 || sc.RAMWeightMultiplier != -1 {
		t.Fatalf("scheduler config: %+v", sc)
	}
	c.FilterScheduler.EnabledFilters = []string{"NoSuchFilter"}
	if err := c.Validate(); err == nil {
		t.Fatal("unknown filter accepted")
	}
	c = Default()
	c.Default.ServiceDownTime = time.Second
	if err := c.Validate(); err == nil {
		t.Fatal("service_down_time below report_interval accepted")
	}
}
