"""handover: builds the versioned continuity-of-care pack of each release and serves it."""
