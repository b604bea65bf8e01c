"""The CDS 1.1 API under /cds/<district>/: curbs, events and metrics."""
