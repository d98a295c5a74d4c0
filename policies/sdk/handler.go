package sdk

// Handler is a policy: a pure function from an input to a verdict.
type Handler func(Input) Verdict

// Handle decodes an ABI v1 input document, runs h and appends the encoded
// verdict to dst. It is what the wasm evaluate export does, exposed so that
// the full wire path of a policy can be tested on the host. It panics on an
// undecodable input or an unsupported ABI version: in the module that is a
// trap, which the host treats as a failed evaluation (fail closed).
func Handle(h Handler, in []byte, dst []byte) []byte {
	input, err := DecodeInput(in)
	if err != nil {
		panic(err)
	}
	v := h(input)
	if v.Action == "" {
		panic("sdk: handler returned a verdict without an action")
	}
	return v.AppendJSON(dst)
}
