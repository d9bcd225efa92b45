"""Models and training: the networks and frozen encoders, the optimisation loop, and running a
trained model over images (the one place a stage sets up torch)."""
