#!/bin/sh
# The upstream image drops to the redis user here; this image already runs as it.
exec "$@"
