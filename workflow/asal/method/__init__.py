"""The method of Kim et al. (ICCV 2023) as pure functions over arrays: base superpixels, the
model's per-superpixel statistics, adaptive merging, acquisition, the simulated oracle and
sieving. Nothing here opens a file."""
