"""What people look at: the benchmark report (table, plots, paired differences), pictures of
artifacts, and readable summaries of any artifact file (`asal show`)."""
