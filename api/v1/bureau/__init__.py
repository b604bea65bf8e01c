"""What the transport bureau calls: reports and their documents, reconciliation, pricing advice."""
