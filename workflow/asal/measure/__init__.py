"""What is measured about a run, on the evaluation side only: mIoU and its confusion matrix,
label quality and per-round diagnostics, paired differences between methods. Acquisition never
reads any of it."""
