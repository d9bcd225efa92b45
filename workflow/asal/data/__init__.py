"""Dataset adapters: where images, labels, splits and classes are; raw mask values to classes;
the checks that refuse a dataset read wrongly; the synthetic datasets made for tests and the
default run."""
