// The AviaryCore target: see DESIGN.md for what lives here.
