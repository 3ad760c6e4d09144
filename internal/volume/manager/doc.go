// Package manager is the volume service (cinder-volume) of one backend on
// one host: it makes and removes volumes on its backend driver when the
// scheduler and cinder-api ask, reports capacity every report_interval,
// and on start reconciles its backend with the database: a volume left
// creating is finished (or made again), one left deleting is removed,
// files of deleted volumes are removed, and an available volume whose
// data is missing goes to error with a reason; snapshots likewise.
//
// It never opens the database: results go to the manager side of
// cinder-api over the bus (internal/volume/rpc).
//
// manager imports api/volume, volume/{backend,glance,rpc} and platform/{bus,fault}.
package manager
