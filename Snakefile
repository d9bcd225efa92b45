# asal: adaptive-superpixel active learning (Kim et al., ICCV 2023) as a Snakemake workflow.
# Run: snakemake --cores 2            (the default config.yaml)
#      snakemake --configfile my.yaml --cores 2
# The stages are rules in workflow/rules/; the logic lives in the asal package (workflow/asal),
# one module per rule in workflow/asal/stages/.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/rounds.smk"
include: "workflow/rules/full.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        report_path(layout.REPORT_TABLE),
        report_path(layout.REPORT_PLOT),
        report_path(layout.REPORT_ROUNDS),
        get_pictures(),
        get_segmentations(),
    default_target: True
