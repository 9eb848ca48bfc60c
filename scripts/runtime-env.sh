# Runtime settings shared by ./gpt4sharp and ./test.sh.
# TorchSharp 0.107 converts numbers to Scalars implicitly, also inside its own methods (the
# alpha of every tensor add), and frees a Scalar from its finalizer with nothing keeping it
# alive during the native call that reads it. A garbage collection on another thread at that
# moment lets the finalizer free it mid-call: libtorch then fails with "Unknown scalar type" or
# "Expected false to be true" from Scalar::toFloat. This project cannot change TorchSharp's conversions;
# a 256 MB gen-0 budget (the default is a few MB; larger values are capped) makes collections,
# and so these failures, about 8-15x rarer; test.sh also runs the tests as unoptimised JIT code,
# which keeps the Scalar alive (README, "Native library").
export DOTNET_GCgen0size="${DOTNET_GCgen0size:-0x10000000}"
