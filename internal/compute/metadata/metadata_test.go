package metadata

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

func testInstance() *Instance {
	return &Instance{UUID: "8a5e1c0e-0d7c-4b8e-9a57-1d1a6c1c2f01", Name: "vm1", Hostname: "vm1", ProjectID: "p1",
		AvailabilityZone: "nova", Meta: map[string]string{"role": "web"}, UserData: []byte("#cloud-config\nruncmd: [true]\n"),
		Keys: []Key{{Name: "k1", Type: "ssh", Data: "ssh-ed25519 AAAA k1"}},
		Links: []Link{
			{ID: "tap0f3c5a2b-1d", PortID: "0f3c5a2b-1d2e", MAC: "fa:16:3e:00:00:01", MTU: 1450, Type: "bridge", NetworkID: "n1",
				Addrs: []Addr{{Address: "10.0.0.5", CIDR: "10.0.0.0/24", Gateway: "10.0.0.1", DNS: []string{"10.0.0.2"}}}},
			{ID: "tap11111111-11", PortID: "11111111-1111", MAC: "fa:16:3e:00:00:02", NetworkID: "n2",
				Addrs: []Addr{{Address: "192.168.7.9", CIDR: "192.168.7.0/24", DHCP: true}}},
		}}
}

func TestMetaData(t *testing.T) {
	in := testInstance()
	old := in.MetaData("2012-08-10")
	if _, ok := old["random_seed"]; ok {
		t.Fatalf("random_seed in 2012-08-10: %v", old)
	}
	if _, ok := old["project_id"]; ok {
		t.Fatal("project_id in 2012-08-10")
	}
	latest := in.MetaData("latest")
	for _, k := range []string{"uuid", "meta", "hostname", "name", "launch_index", "availability_zone", "public_keys", "keys", "random_seed", "project_id", "devices"} {
		if _, ok := latest[k]; !ok {
			t.Errorf("latest meta_data.json lacks %s", k)
		}
	}
	if latest["public_keys"].(map[string]string)["k1"] != "ssh-ed25519 AAAA k1" {
		t.Fatalf("public_keys: %v", latest["public_keys"])
	}
	nd := in.NetworkData()
	nets := nd["networks"].([]any)
	if len(nets) != 2 {
		t.Fatalf("networks: %v", nets)
	}
	static := nets[0].(map[string]any)
	if static["type"] != "ipv4" || static["netmask"] != "255.255.255.0" || static["ip_address"] != "10.0.0.5" || static["link"] != "tap0f3c5a2b-1d" {
		t.Fatalf("static network: %v", static)
	}
	if r := static["routes"].([]any)[0].(map[string]any); r["gateway"] != "10.0.0.1" || r["network"] != "0.0.0.0" {
		t.Fatalf("route: %v", r)
	}
	if dhcp := nets[1].(map[string]any); dhcp["type"] != "ipv4_dhcp" || dhcp["ip_address"] != nil {
		t.Fatalf("dhcp network: %v", dhcp)
	}
	links := nd["links"].([]any)
	if l := links[1].(map[string]any); l["type"] != "phy" || l["ethernet_mac_address"] != "fa:16:3e:00:00:02" {
		t.Fatalf("link: %v", l)
	}
	if s := nd["services"].([]any); len(s) != 1 {
		t.Fatalf("services: %v", s)
	}
}

// readISO walks the Joliet hierarchy of an image and returns its files.
func readISO(t *testing.T, img []byte) (label string, files map[string][]byte) {
	t.Helper()
	files = map[string][]byte{}
	var svd []byte
	for s := 16; ; s++ {
		vd := img[s*sector : (s+1)*sector]
		if string(vd[1:6]) != "CD001" {
			t.Fatalf("sector %d is no volume descriptor", s)
		}
		if vd[0] == 1 {
			label = strings.TrimRight(string(vd[40:72]), " ")
		}
		if vd[0] == 2 && string(vd[88:91]) == "%/E" {
			svd = vd
		}
		if vd[0] == 255 {
			break
		}
	}
	if svd == nil {
		t.Fatal("no Joliet descriptor")
	}
	if total := binary.LittleEndian.Uint32(svd[80:]); int(total)*sector != len(img) {
		t.Fatalf("volume size %d sectors, image %d bytes", total, len(img))
	}
	var walk func(lba, size uint32, prefix string)
	walk = func(lba, size uint32, prefix string) {
		ext := img[lba*sector : lba*sector+size]
		for off := 0; off < len(ext); {
			n := int(ext[off])
			if n == 0 {
				off = (off/sector + 1) * sector
				continue
			}
			rec := ext[off : off+n]
			off += n
			nl := int(rec[32])
			raw := rec[33 : 33+nl]
			if nl == 1 && (raw[0] == 0 || raw[0] == 1) {
				continue
			}
			var u []uint16
			for i := 0; i+1 < len(raw); i += 2 {
				u = append(u, uint16(raw[i])<<8|uint16(raw[i+1]))
			}
			name := strings.TrimSuffix(string(utf16.Decode(u)), ";1")
			clba, csize := binary.LittleEndian.Uint32(rec[2:]), binary.LittleEndian.Uint32(rec[10:])
			if rec[25]&2 != 0 {
				walk(clba, csize, prefix+name+"/")
			} else {
				files[prefix+name] = img[clba*sector : clba*sector+csize]
			}
		}
	}
	root := svd[156:190]
	walk(binary.LittleEndian.Uint32(root[2:]), binary.LittleEndian.Uint32(root[10:]), "")
	return label, files
}

func TestConfigDrive(t *testing.T) {
	in := testInstance()
	files, err := in.Files()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"openstack/latest/meta_data.json", "openstack/latest/network_data.json", "openstack/latest/user_data",
		"openstack/2012-08-10/meta_data.json", "openstack/latest/vendor_data2.json", "ec2/latest/meta-data.json", "ec2/2009-04-04/user-data"} {
		if _, ok := files[want]; !ok {
			t.Errorf("no %s", want)
		}
	}
	if _, ok := files["openstack/2012-08-10/network_data.json"]; ok {
		t.Error("network_data.json in 2012-08-10")
	}
	// Many files in one directory make its extent span sectors.
	for i := 0; i < 120; i++ {
		files["openstack/content/"+strings.Repeat("x", 40)+itoa(i)] = []byte{byte(i)}
	}
	var buf bytes.Buffer
	if err := WriteISO(&buf, ConfigDriveLabel, files, time.Now()); err != nil {
		t.Fatal(err)
	}
	label, got := readISO(t, buf.Bytes())
	if label != ConfigDriveLabel {
		t.Fatalf("label %q", label)
	}
	if len(got) != len(files) {
		t.Fatalf("%d files read back, %d written", len(got), len(files))
	}
	for p, data := range files {
		if !bytes.Equal(got[p], data) {
			t.Fatalf("%s: %q, want %q", p, got[p], data)
		}
	}
	var md map[string]any
	if err := json.Unmarshal(got["openstack/latest/meta_data.json"], &md); err != nil || md["uuid"] != in.UUID {
		t.Fatalf("meta_data.json: %v %v", md, err)
	}
	for _, bad := range []map[string][]byte{{"a": nil, "a/b": nil}, {"dir/": nil}, {strings.Repeat("n", 65): nil}} {
		if err := WriteISO(&bytes.Buffer{}, "x", bad, time.Now()); err == nil {
			t.Errorf("%v was accepted", bad)
		}
	}
}

// The image is one that Linux tools read: xorriso lists the Joliet names and
// blkid finds the label cloud-init looks for.
func TestConfigDriveWithSystemTools(t *testing.T) {
	xorriso, err := exec.LookPath("xorriso")
	if err != nil {
		t.Skip("xorriso is not installed")
	}
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.config")
	files, _ := testInstance().Files()
	if err := WriteConfigDrive(img, files); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xorriso, "-indev", img, "-osirrox", "on", "-extract", "/", filepath.Join(dir, "x")).CombinedOutput()
	if err != nil {
		t.Fatalf("xorriso: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "x", "openstack", "latest", "meta_data.json"))
	if err != nil {
		t.Fatalf("extracted tree: %v\n%s", err, out)
	}
	if !bytes.Equal(b, files["openstack/latest/meta_data.json"]) {
		t.Fatal("meta_data.json differs after extraction")
	}
	if blkid, err := exec.LookPath("blkid"); err == nil {
		out, err := exec.Command(blkid, "-o", "value", "-s", "LABEL", img).CombinedOutput()
		if err == nil && strings.TrimSpace(string(out)) != ConfigDriveLabel {
			t.Fatalf("blkid label %q", out)
		}
	}
}

// cloud-init (Debian's, when installed) reads the config drive: its
// ConfigDrive datasource finds the instance id, host name, keys, user data
// and metadata, and turns network_data.json into a network configuration
// with the static address and the DHCP interface.
func TestCloudInitReadsConfigDrive(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import cloudinit.sources.DataSourceConfigDrive").Run(); err != nil {
		t.Skip("cloud-init is not installed")
	}
	in := testInstance()
	files, err := in.Files()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteISO(&buf, ConfigDriveLabel, files, time.Now()); err != nil {
		t.Fatal(err)
	}
	// The image's Joliet tree, extracted as a mount would show it.
	_, tree := readISO(t, buf.Bytes())
	dir := t.TempDir()
	for p, data := range tree {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `
import json, sys
from cloudinit.sources.DataSourceConfigDrive import read_config_drive
from cloudinit.sources.helpers import openstack
r = read_config_drive(sys.argv[1])
md = r["metadata"]
net = openstack.convert_net_json(r["networkdata"], known_macs={"fa:16:3e:00:00:01": "eth0", "fa:16:3e:00:00:02": "eth1"})
ud = r.get("userdata")
if isinstance(ud, bytes):
    ud = ud.decode()
print(json.dumps({"uuid": md.get("instance-id") or md.get("uuid"), "hostname": md.get("local-hostname") or md.get("hostname"),
    "keys": md.get("public-keys") or md.get("public_keys"), "meta": md.get("meta"), "userdata": ud, "net": net}))
`
	out, err := exec.Command(py, "-c", script, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("cloud-init: %v\n%s", err, out)
	}
	var got struct {
		UUID, Hostname, Userdata string
		Keys                     any
		Meta                     map[string]string
		Net                      struct {
			Config []map[string]any `json:"config"`
		}
	}
	if err := json.Unmarshal(out[bytes.LastIndexByte(bytes.TrimSpace(out), '\n')+1:], &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.UUID != in.UUID || got.Hostname != "vm1" || got.Meta["role"] != "web" || got.Userdata != string(in.UserData) {
		t.Fatalf("cloud-init read %+v", got)
	}
	if !strings.Contains(string(mustJSON(got.Keys)), "ssh-ed25519 AAAA k1") {
		t.Fatalf("keys: %v", got.Keys)
	}
	var static, dhcp bool
	for _, c := range got.Net.Config {
		for _, s := range asList(c["subnets"]) {
			sub := s.(map[string]any)
			if c["name"] == "eth0" && sub["type"] == "static" && sub["address"] == "10.0.0.5" {
				static = true
			}
			if c["name"] == "eth1" && sub["type"] == "dhcp4" {
				dhcp = true
			}
		}
	}
	t.Logf("network config: %s", mustJSON(got.Net))
	if !static || !dhcp {
		t.Fatalf("network config: %s", mustJSON(got.Net))
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
