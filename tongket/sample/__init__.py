"""Demo data: a real district's registry and realistic unit workbooks (`tongket sample`)."""
