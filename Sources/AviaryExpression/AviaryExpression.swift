// The AviaryExpression target: see DESIGN.md for what lives here.
