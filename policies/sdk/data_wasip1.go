//go:build wasip1

package sdk

// dataHandler receives the bundle's data (see OnData).
var dataHandler func([]byte) error

// OnData installs f to receive the policy bundle's data document (a JSON
// object of named text files, see ../ABI.md "Data") once per instance,
// after init and before the first evaluate. f may keep the slice. An error
// makes the host refuse the bundle. Call it from an init function, like
// Serve.
func OnData(f func(data []byte) error) { dataHandler = f }

// policyData is the optional policy_data export (ABI v1, revision 2).
//
//go:wasmexport policy_data
func policyData(ptr, n uint32) uint32 {
	i := lookup(ptr)
	if i < 0 || int(n) > len(live[i].b) {
		return 2 // not a buffer from alloc
	}
	buf := unregister(i) // the guest owns it now; free(ptr) becomes a no-op
	if dataHandler == nil {
		return 1 // this policy takes no data
	}
	if err := dataHandler(buf[:n]); err != nil {
		return 3
	}
	return 0
}
