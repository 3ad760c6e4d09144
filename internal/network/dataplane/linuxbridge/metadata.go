package linuxbridge

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"time"

	"github.com/tenku-cloud/tenku/internal/linux/netdev"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
)

// MetadataPort is where the proxy listens in router namespaces (Neutron's
// 9697); 169.254.169.254:80 is redirected to it.
const MetadataPort = 9697

// ErrUnknownAddress is dataplane.ErrUnknownAddress.
var ErrUnknownAddress = dataplane.ErrUnknownAddress

// MetadataLookup is dataplane.MetadataLookup.
type MetadataLookup = dataplane.MetadataLookup

// SetMetadataLookup implements dataplane.MetadataProxier: the proxy asks l
// (the server, through the agent) instead of Options.MetadataLookup.
func (d *Driver) SetMetadataLookup(l MetadataLookup) {
	d.mu.Lock()
	d.opts.MetadataLookup = l
	d.mu.Unlock()
}

// proxy is one metadata proxy listening inside a namespace.
type proxy struct {
	nsID     uint64
	networks []string
	srv      *http.Server
}

func (d *Driver) metadataEnabled() bool { return d.cfg.Metadata.SharedSecret != "" }

// ensureProxy runs a proxy in ns on addr for guests of the networks; d.mu is
// held.
func (d *Driver) ensureProxy(key, ns, addr string, networks []string) error {
	id, err := netdev.NamespaceID(ns)
	if err != nil {
		return err
	}
	if p, ok := d.proxies[key]; ok {
		if p.nsID == id {
			p.networks = networks
			return nil
		}
		p.srv.Close() // the namespace was made again: listen in the new one
		delete(d.proxies, key)
	}
	l, err := netdev.Listen(ns, "tcp", addr)
	if err != nil {
		return fmt.Errorf("metadata proxy in %s: %w", ns, err)
	}
	p := &proxy{nsID: id, networks: networks}
	p.srv = &http.Server{Handler: d.proxyHandler(p), ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(l)
	d.proxies[key] = p
	return nil
}

func (d *Driver) stopProxy(key string) {
	if p, ok := d.proxies[key]; ok {
		p.srv.Close()
		delete(d.proxies, key)
	}
}

// proxyHandler forwards a guest's request to Nova's metadata API naming the
// guest's instance, signed with the shared secret, as Neutron's metadata
// agent does.
func (d *Driver) proxyHandler(p *proxy) http.Handler {
	m := d.cfg.Metadata
	proto := m.NovaMetadataProtocol
	if proto == "" {
		proto = "http"
	}
	target := &url.URL{Scheme: proto, Host: net.JoinHostPort(m.NovaMetadataHost, strconv.Itoa(m.NovaMetadataPort))}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = target.Host
			// Rewrite drops X-Forwarded-For; the handler set the guest's.
			r.Out.Header.Set("X-Forwarded-For", r.In.Header.Get("X-Forwarded-For"))
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			d.log.Warn("metadata proxy: Nova's metadata API failed", "err", err)
			http.Error(w, "500 Internal Server Error\n\nAn unknown error has occurred. Please try your request again.", http.StatusInternalServerError)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			http.Error(w, "400 Bad Request", http.StatusBadRequest)
			return
		}
		d.mu.Lock()
		networks := append([]string(nil), p.networks...)
		d.mu.Unlock()
		inst, project, err := d.lookup(r.Context(), networks, ip)
		if errors.Is(err, ErrUnknownAddress) {
			http.Error(w, "404 Not Found\n\nThe resource could not be found.", http.StatusNotFound)
			return
		}
		if err != nil {
			d.log.Warn("metadata proxy: instance lookup failed", "ip", ip, "err", err)
			http.Error(w, "500 Internal Server Error\n\nAn unknown error has occurred. Please try your request again.", http.StatusInternalServerError)
			return
		}
		mac := hmac.New(sha256.New, []byte(m.SharedSecret))
		mac.Write([]byte(inst))
		// The guest's own headers never reach Nova.
		for _, h := range []string{"X-Instance-ID", "X-Tenant-ID", "X-Instance-ID-Signature", "X-Forwarded-For"} {
			r.Header.Del(h)
		}
		r.Header.Set("X-Instance-ID", inst)
		r.Header.Set("X-Tenant-ID", project)
		r.Header.Set("X-Instance-ID-Signature", hex.EncodeToString(mac.Sum(nil)))
		r.Header.Set("X-Forwarded-For", ip)
		rp.ServeHTTP(w, r)
	})
}

// lookup asks Options.MetadataLookup, or else the ports bound to this host.
func (d *Driver) lookup(ctx context.Context, networks []string, ip string) (string, string, error) {
	d.mu.Lock()
	l := d.opts.MetadataLookup
	if l != nil {
		d.mu.Unlock()
		return l(ctx, networks, ip)
	}
	defer d.mu.Unlock()
	for _, p := range d.ports {
		if p.DeviceID == "" || !contains(networks, p.Network.ID) {
			continue
		}
		for _, a := range p.Addresses {
			if a.IP == ip {
				return p.DeviceID, p.Network.ProjectID, nil
			}
		}
	}
	return "", "", ErrUnknownAddress
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
