#!/usr/bin/env bash
# Runs the whole test suite. Installs what the tests need first (Debian packages:
# python3 for running model-written code, bubblewrap for sandboxing it, chromium for the web
# chat page's browser test), when missing.
set -euo pipefail
cd "$(dirname "$0")"
source ./scripts/ensure-packages.sh
source ./scripts/runtime-env.sh
ensure_packages python3 bwrap:bubblewrap chromium
dotnet build Gpt4Sharp.slnx -c Release -nologo -v q
# Unoptimised JIT code for the tests only: TorchSharp's Scalar race (scripts/runtime-env.sh) needs optimised
# code that inlines its methods and ends a Scalar's life mid-call; MinOpts code keeps it alive, and the
# scalar-race bench then counts no failure. The tests check this project's logic; results are bit-identical.
DOTNET_JITMinOpts=1 dotnet test Gpt4Sharp.slnx -c Release --no-build -nologo -v q --logger "console;verbosity=normal" "$@"
