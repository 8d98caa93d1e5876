// The AviaryRouter target: see DESIGN.md for what lives here.
