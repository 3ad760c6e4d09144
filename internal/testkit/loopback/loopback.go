package loopback

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strconv"
)

// Ports are tenku's default service ports: Keystone, Nova, Nova's metadata,
// Cinder, Glance, Neutron and the dashboard.
var Ports = []int{5000, 8774, 8775, 8776, 9292, 9696, 8080}

// Free returns a random 127.x.y.z address on which every port of Ports is
// free.
func Free() (string, error) {
	var b [3]byte
	for attempt := 0; attempt < 50; attempt++ {
		rand.Read(b[:])
		ip := fmt.Sprintf("127.%d.%d.%d", 10+int(b[0])%200, b[1], 1+int(b[2])%250)
		if portsFree(ip) {
			return ip, nil
		}
	}
	return "", errors.New("no loopback address with tenku's ports free")
}

func portsFree(ip string) bool {
	for _, p := range Ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(p)))
		if err != nil {
			return false
		}
		ln.Close()
	}
	return true
}
