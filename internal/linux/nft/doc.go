// Package nft applies nftables rulesets with the nft command, inside a named
// network namespace. A table is replaced whole in one atomic batch ("add
// table; delete table; table { ... }" in one nft -f run), so a reader never
// sees half a change and applying twice is one apply.
//
// nft knows no OpenStack words and imports only the standard library.
package nft
