# Stages that run once per experiment: the dataset (synthetic only), base superpixels and the
# oracle's ground-truth table.


rule synthesize:
    output:
        P(layout.DATASET_DONE),
    params:
        spec=spec_json(config["dataset"].get("synthetic", {})),
        out=lambda wildcards, output: os.path.dirname(output[0]),
        seed=config["seed"],
    log:
        LOG("synthesize", "experiment"),
    benchmark:
        BENCH("synthesize", "experiment")
    resources:
        **resources_of("synthesize"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal synthesize --out {params.out} --seed {params.seed} --spec {params.spec:q} > {log} 2>&1"


rule superpixelize:
    # One job per superpixel algorithm in use (seeds, slic): superpixels/{spx}.h5.
    input:
        [P(layout.DATASET_DONE)] if DATASET["name"] == "synthetic" else [],
    output:
        P(layout.SUPERPIXELS if SHARDS == 1 else layout.SUPERPIXEL_SHARD),
    wildcard_constraints:
        spx=ALGORITHM_KIND_RE,
    params:
        dataset=DATASET_JSON,
        spec=lambda wildcards: spec_json(superpixel_settings(config, wildcards.spx)),
        shard=lambda wildcards: f"--shard {wildcards.shard} --shards {SHARDS}" if SHARDS > 1 else "",
    log:
        LOG("superpixelize", "superpixels" if SHARDS == 1 else "superpixel_shard"),
    benchmark:
        BENCH("superpixelize", "superpixels" if SHARDS == 1 else "superpixel_shard")
    resources:
        **resources_of("superpixelize"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal superpixelize --dataset {params.dataset:q} --spec {params.spec:q} {params.shard}"
        " --out {output} > {log} 2>&1"


if SHARDS > 1:

    rule gather_superpixels:
        input:
            lambda wildcards: expand(P(layout.SUPERPIXEL_SHARD), spx=wildcards.spx, shard=range(SHARDS)),
        output:
            P(layout.SUPERPIXELS),
        wildcard_constraints:
            spx=ALGORITHM_KIND_RE,
        log:
            LOG("gather_superpixels", "superpixels"),
        benchmark:
            BENCH("gather_superpixels", "superpixels")
        resources:
            **resources_of("superpixelize"),
        conda:
            "../../envs/asal.yaml"
        shell:
            "asal gather --stage superpixelize --shard-files {input} --out {output} > {log} 2>&1"


rule superpixelize_oracle:
    input:
        [P(layout.DATASET_DONE)] if DATASET["name"] == "synthetic" else [],
    output:
        P(layout.ORACLE_SUPERPIXELS),
    params:
        dataset=DATASET_JSON,
    log:
        LOG("superpixelize_oracle", "experiment"),
    benchmark:
        BENCH("superpixelize_oracle", "experiment")
    resources:
        **resources_of("superpixelize_oracle"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal superpixelize-oracle --dataset {params.dataset:q} --out {output} > {log} 2>&1"


rule oracle_table:
    input:
        P(layout.SUPERPIXELS),
    output:
        P(layout.ORACLE_TABLE),
    params:
        dataset=DATASET_JSON,
        allow=" --allow-absent-classes" if config["dataset"].get("allow_absent_classes") else "",
    log:
        LOG("oracle_table", "superpixels"),
    benchmark:
        BENCH("oracle_table", "superpixels")
    resources:
        **resources_of("oracle_table"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal oracle-table --dataset {params.dataset:q} --superpixels {input} --out {output}{params.allow}"
        " > {log} 2>&1"


rule features:
    # train.model feature_head: the frozen encoder's taps of every image, computed once.
    input:
        [P(layout.DATASET_DONE)] if DATASET["name"] == "synthetic" else [],
    output:
        P(layout.FEATURES if SHARDS == 1 else layout.FEATURE_SHARD),
    wildcard_constraints:
        encoder=r"efficientnet_lite\d",
        shard=r"\d+",
    params:
        dataset=DATASET_JSON,
        device=DEVICE,
        shard=lambda wildcards: f"--shard {wildcards.shard} --shards {SHARDS}" if SHARDS > 1 else "",
    threads: 1
    log:
        LOG("features", "features" if SHARDS == 1 else "feature_shard"),
    benchmark:
        BENCH("features", "features" if SHARDS == 1 else "feature_shard")
    resources:
        **resources_of("features", "gpu"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal features --dataset {params.dataset:q} --encoder {wildcards.encoder} {params.shard}"
        " --device {params.device} --threads {threads} --out {output} > {log} 2>&1"


if SHARDS > 1:

    rule gather_features:
        input:
            lambda wildcards: expand(P(layout.FEATURE_SHARD), encoder=wildcards.encoder,
                                     shard=range(SHARDS)),
        output:
            P(layout.FEATURES),
        wildcard_constraints:
            encoder=r"efficientnet_lite\d",
        log:
            LOG("gather_features", "features"),
        benchmark:
            BENCH("gather_features", "features")
        resources:
            **resources_of("features"),
        conda:
            "../../envs/asal.yaml"
        shell:
            "asal gather --stage features --shard-files {input} --out {output} > {log} 2>&1"
