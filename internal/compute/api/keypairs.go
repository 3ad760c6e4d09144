package api

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

func (a *API) keypairRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2.1/os-keypairs", Handler: a.listKeypairs},
		{Method: "POST", Path: "/v2.1/os-keypairs", Handler: a.createKeypair, Max: rest.V(2, 1), Schema: keypairCreateSchema},
		{Method: "POST", Path: "/v2.1/os-keypairs", Handler: a.createKeypair, Min: rest.V(2, 2), Status: http.StatusCreated, Schema: keypairCreateSchema},
		{Method: "GET", Path: "/v2.1/os-keypairs/{keypair_name}", Handler: a.showKeypair},
		{Method: "DELETE", Path: "/v2.1/os-keypairs/{keypair_name}", Handler: a.deleteKeypair, Max: rest.V(2, 1), Status: http.StatusAccepted},
		{Method: "DELETE", Path: "/v2.1/os-keypairs/{keypair_name}", Handler: a.deleteKeypair, Min: rest.V(2, 2), Status: http.StatusNoContent},
	}
}

const keypairCreateSchema = `{
  "type": "object",
  "properties": {"keypair": {"type": "object",
    "properties": {
      "name": {"type": "string", "minLength": 1, "maxLength": 255},
      "public_key": {"type": "string"},
      "type": {"type": "string", "enum": ["ssh", "x509"]},
      "user_id": {"type": "string"}
    },
    "required": ["name"], "additionalProperties": false}},
  "required": ["keypair"], "additionalProperties": false
}`

var (
	keypairName    = regexp.MustCompile(`^[_\- a-zA-Z0-9]+$`)
	keypairName292 = regexp.MustCompile(`^[_\-@. a-zA-Z0-9]+$`)
)

// keypairUser returns the user whose key pairs a request reads or writes:
// the caller, or (2.10, admin) the user_id asked for.
func (a *API) keypairUser(ctx context.Context, r *rest.Request, asked string, rule string) (string, error) {
	_, user := caller(r)
	if asked != "" && r.Version.AtLeast(rest.V(2, 10)) {
		user = asked
	}
	if err := r.Enforce(ctx, rule, map[string]any{"user_id": user}); err != nil {
		return "", err
	}
	return user, nil
}

func keypairView(r *rest.Request, k *objects.Keypair, detail bool) map[string]any {
	v := map[string]any{"name": k.Name, "public_key": k.PublicKey, "fingerprint": k.Fingerprint}
	if r.Version.AtLeast(rest.V(2, 2)) {
		v["type"] = k.Type
	}
	if detail {
		v["user_id"], v["deleted"], v["created_at"] = k.UserID, false, isoMicro(k.CreatedAt)
		v["updated_at"], v["deleted_at"], v["id"] = nil, nil, k.ID
	}
	return v
}

func (a *API) listKeypairs(ctx context.Context, r *rest.Request) (any, error) {
	q := r.HTTP.URL.Query()
	user, err := a.keypairUser(ctx, r, q.Get("user_id"), "os_compute_api:os-keypairs:index")
	if err != nil {
		return nil, err
	}
	all, err := a.d.Store.Keypairs(ctx, user)
	if err != nil {
		return nil, err
	}
	var page rest.Page
	paged := r.Version.AtLeast(rest.V(2, 35))
	if paged {
		var zero bool
		if page, zero, err = a.page(r); err != nil {
			return nil, err
		}
		if zero {
			all = nil
		}
		if all, _, err = rest.PageOf(all, page, func(k *objects.Keypair) string { return k.Name }); err != nil {
			return nil, fault.BadRequest("marker [%s] not found", page.Marker)
		}
	}
	list := make([]map[string]any, 0, len(all))
	for _, k := range all {
		list = append(list, map[string]any{"keypair": keypairView(r, k, false)})
	}
	out := map[string]any{"keypairs": list}
	if paged && len(all) > 0 && len(all) == page.Limit {
		out["keypairs_links"] = a.nextLink(r, all[len(all)-1].Name)
	}
	return out, nil
}

func (a *API) createKeypair(ctx context.Context, r *rest.Request) (any, error) {
	var body struct {
		Keypair struct {
			Name      string  `json:"name"`
			PublicKey *string `json:"public_key"`
			Type      string  `json:"type"`
			UserID    string  `json:"user_id"`
		} `json:"keypair"`
	}
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	k := body.Keypair
	if k.Type != "" && !r.Version.AtLeast(rest.V(2, 2)) {
		return nil, fault.BadRequest("Invalid input for field/attribute keypair. Additional properties are not allowed ('type' was unexpected)")
	}
	if k.UserID != "" && !r.Version.AtLeast(rest.V(2, 10)) {
		return nil, fault.BadRequest("Invalid input for field/attribute keypair. Additional properties are not allowed ('user_id' was unexpected)")
	}
	re := keypairName
	if r.Version.AtLeast(rest.V(2, 92)) {
		re = keypairName292
		if k.PublicKey == nil {
			return nil, fault.BadRequest("Invalid input for field/attribute keypair. 'public_key' is a required property")
		}
	}
	if !re.MatchString(k.Name) || strings.TrimSpace(k.Name) != k.Name {
		return nil, fault.BadRequest("Keypair data is invalid: Keypair name contains unsafe characters").WithType("InvalidKeypair")
	}
	user, err := a.keypairUser(ctx, r, k.UserID, "os_compute_api:os-keypairs:create")
	if err != nil {
		return nil, err
	}
	if k.Type == "" {
		k.Type = "ssh"
	}
	kp := &objects.Keypair{Name: k.Name, UserID: user, Type: k.Type}
	private := ""
	if k.PublicKey != nil {
		// Stored and returned exactly as given (a trailing newline too), as Nova.
		kp.PublicKey = *k.PublicKey
		if kp.Fingerprint, err = fingerprint(kp.Type, strings.TrimSpace(kp.PublicKey)); err != nil {
			return nil, err
		}
	} else {
		if kp.PublicKey, private, kp.Fingerprint, err = generateKeypair(kp.Type, user); err != nil {
			return nil, err
		}
	}
	limit, err := a.quota.userLimit(ctx, "", user, "key_pairs")
	if err != nil {
		return nil, err
	}
	if err := a.d.Store.CreateKeypair(ctx, kp, limit); err != nil {
		return nil, err
	}
	v := keypairView(r, kp, false)
	v["user_id"] = kp.UserID
	if private != "" {
		v["private_key"] = private
	}
	return map[string]any{"keypair": v}, nil
}

// fingerprint validates a public key and returns Nova's fingerprint: MD5
// colon-hex of an SSH key's blob, SHA-1 colon-hex of a certificate's DER.
func fingerprint(typ, pub string) (string, error) {
	invalid := fault.BadRequest("Keypair data is invalid: failed to generate fingerprint").WithType("InvalidKeypair")
	if typ == "x509" {
		blk, _ := pem.Decode([]byte(pub))
		if blk == nil {
			return "", invalid
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return "", invalid
		}
		sum := sha1.Sum(cert.Raw)
		return colonHex(sum[:]), nil
	}
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(pub))
	if err != nil {
		return "", invalid
	}
	sum := md5.Sum(key.Marshal())
	return colonHex(sum[:]), nil
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts, ":")
}

// generateKeypair makes a key pair as Nova did before 2.92: RSA 2048, the
// public part in OpenSSH format (or a self-signed certificate for x509).
func generateKeypair(typ, user string) (pub, private, fp string, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", "", err
	}
	private = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	if typ == "x509" {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: user},
			NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().AddDate(10, 0, 0)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return "", "", "", err
		}
		pub = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
		sum := sha1.Sum(der)
		return pub, private, colonHex(sum[:]), nil
	}
	sp, err := ssh.NewPublicKey(&key.PublicKey)
	if err != nil {
		return "", "", "", err
	}
	pub = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " Generated-by-Nova"
	sum := md5.Sum(sp.Marshal())
	return pub, private, colonHex(sum[:]), nil
}

func (a *API) showKeypair(ctx context.Context, r *rest.Request) (any, error) {
	user, err := a.keypairUser(ctx, r, r.HTTP.URL.Query().Get("user_id"), "os_compute_api:os-keypairs:show")
	if err != nil {
		return nil, err
	}
	k, err := a.d.Store.Keypair(ctx, user, r.Param("keypair_name"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"keypair": keypairView(r, k, true)}, nil
}

func (a *API) deleteKeypair(ctx context.Context, r *rest.Request) (any, error) {
	user, err := a.keypairUser(ctx, r, r.HTTP.URL.Query().Get("user_id"), "os_compute_api:os-keypairs:delete")
	if err != nil {
		return nil, err
	}
	return nil, a.d.Store.DeleteKeypair(ctx, user, r.Param("keypair_name"))
}

var _ = json.Marshal
