package dashboard

import (
	"strings"
	"testing"
)

// TestStatusesTranslated: the instance list shows Nova's statuses and task
// states in Japanese for a Japanese reader, the API's word in English.
func TestStatusesTranslated(t *testing.T) {
	d := &Dashboard{assets: map[string]*asset{}}
	if err := d.parseTemplates(); err != nil {
		t.Fatal(err)
	}
	task := "spawning"
	var in instance
	in.ID, in.Name, in.Status, in.Server.TaskState = "x", "web", "VERIFY_RESIZE", &task
	for lang, want := range map[string][]string{"ja": {"サイズ変更の確認待ち", "起動中"}, "en": {">VERIFY_RESIZE<", ">spawning<"}} {
		p := &page{Lang: lang, s: &session{}, Data: &instancesData{Instances: []instance{in}, Pager: &pager{}}}
		var b strings.Builder
		if err := d.pages["instances"].ExecuteTemplate(&b, "rows", p); err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: the row lacks %q:\n%s", lang, w, b.String())
			}
		}
	}
}
