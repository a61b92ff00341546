"""Paper figures, drawn from the files the stages wrote (never recomputing their results).

One function ``plot_<name>(data, out_path)`` per figure writes a PNG and a PDF beside it;
``inputs`` reads the files a figure needs into ``data``; ``style`` holds the shared look;
``prepare`` the light preparation (log bins, the exponent fit, means over seeds).
"""
