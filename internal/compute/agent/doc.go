// Package agent is nova-compute: the per-host agent that builds, changes and
// destroys instances through a hypervisor driver (compute/virt), allocates
// their ports through Neutron and fetches their images from Glance, reports
// its service and resources, syncs power states, and on start reconciles
// what the database assigns to its host with what the hypervisor has.
//
// The agent never opens the database: it reads and changes instances through
// the conductor over the bus, each change a compare-and-swap that also
// records the phase as an instance action event:
//
//	BUILD/scheduling ─▶ networking ─▶ block_device_mapping ─▶ spawning ─▶ ACTIVE/RUNNING
//	(conductor)        ports, bind,    image cache, disks       driver
//	                   vif-plugged                              Spawn
//
// Work that takes time runs in goroutines the agent owns (Shutdown waits for
// them); a handler acknowledges the caller first. Operations on one instance
// are serialised by a per-instance lock, as Nova's synchronized(uuid); a
// delete cancels a build in flight.
//
// agent imports platform/{bus,fault,logging,service,authn}, compute/{conf,
// objects,rpc,states,store,virt,clients,metadata}.
package agent
