#!/usr/bin/env bash
# Runs the neurongan package's tests (installing everything first); extra arguments go to pytest.
exec bash "$(dirname "${BASH_SOURCE[0]}")/../tools/test.sh" neurongan -- "$@"
