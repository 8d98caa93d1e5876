// The AviaryMetrics target: see DESIGN.md for what lives here.
