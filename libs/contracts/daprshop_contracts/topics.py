"""Topic names on the one pub/sub component, `pubsub`."""

DIAGNOSTICS = "diagnostics"
