# Stages that run once per experiment: the dataset (synthetic only), base superpixels, the
# oracle's ground-truth table and a frozen encoder's features. Every rule passes its inputs as
# the stage's options (params.inputs, from get_input) and its settings as JSON.


rule synthesize:
    output:
        results(layout.DATASET_DONE),
    params:
        spec=spec_json(config["dataset"]["synthetic"]),
        out=lambda wildcards, output: os.path.dirname(output[0]),
        seed=config["seed"],
    log:
        logs("synthesize", "experiment"),
    benchmark:
        benchmarks("synthesize", "experiment")
    resources:
        **resources_of("synthesize"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal synthesize --out {params.out} --seed {params.seed} --spec {params.spec:q} > {log} 2>&1"


rule check_dataset:
    # Every job that reads images or labels waits for this check and depends on its
    # summaries: a dataset that would be misread stops the run before any such job starts.
    input:
        unpack(get_input("check_dataset")),
    output:
        results(layout.DATASET_CHECK),
    params:
        dataset=DATASET_JSON,
        fingerprint=DATASET_FINGERPRINT,
        checks=CHECK_OPTIONS,
    log:
        logs("check_dataset", "experiment"),
    benchmark:
        benchmarks("check_dataset", "experiment")
    resources:
        **resources_of("check_dataset"),
        allow_absent=ALLOW_ABSENT,
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal check-dataset --dataset {params.dataset:q} {params.checks}"
        " {resources.allow_absent} --out {output} > {log} 2>&1"


rule superpixelize:
    # One job per superpixel algorithm in use (seeds, slic): superpixels/{spx}.h5.
    input:
        unpack(get_input("superpixelize")),
    output:
        results(layout.SUPERPIXELS if SHARDS == 1 else layout.SUPERPIXEL_SHARD),
    wildcard_constraints:
        spx=ALGORITHM_KIND_RE,
    params:
        dataset_images=DATASET_IMAGES,  # what the images are: they rerun it
        inputs=input_options,
        dataset=DATASET_JSON,
        spec=lambda wildcards: spec_json(superpixel_settings(config, wildcards.spx)),
        shard=shard_options,
    log:
        logs("superpixelize", "superpixels" if SHARDS == 1 else "superpixel_shard"),
    benchmark:
        benchmarks("superpixelize", "superpixels" if SHARDS == 1 else "superpixel_shard")
    resources:
        **resources_of("superpixelize"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal superpixelize {params.inputs} --dataset {params.dataset:q} --spec {params.spec:q}"
        " {params.shard} --out {output} > {log} 2>&1"


if SHARDS > 1:

    rule gather_superpixels:
        input:
            unpack(get_input("gather_superpixels")),
        output:
            results(layout.SUPERPIXELS),
        wildcard_constraints:
            spx=ALGORITHM_KIND_RE,
        params:
            inputs=input_options,
        log:
            logs("gather_superpixels", "superpixels"),
        benchmark:
            benchmarks("gather_superpixels", "superpixels")
        resources:
            **resources_of("superpixelize"),
        conda:
            "../../envs/asal.yaml"
        shell:
            "asal gather --stage superpixelize {params.inputs} --out {output} > {log} 2>&1"


rule superpixelize_oracle:
    input:
        unpack(get_input("superpixelize_oracle")),
    output:
        results(layout.ORACLE_SUPERPIXELS),
    params:
        inputs=input_options,
        dataset=DATASET_JSON,
    log:
        logs("superpixelize_oracle", "experiment"),
    benchmark:
        benchmarks("superpixelize_oracle", "experiment")
    resources:
        **resources_of("superpixelize_oracle"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal superpixelize-oracle {params.inputs} --dataset {params.dataset:q} --out {output}"
        " > {log} 2>&1"


rule oracle_table:
    input:
        unpack(get_input("oracle_table")),
    output:
        results(layout.ORACLE_TABLE),
    params:
        inputs=input_options,
        dataset=DATASET_JSON,
        allow=" --allow-absent-classes" if config["dataset"]["allow_absent_classes"] else "",
    log:
        logs("oracle_table", "superpixels"),
    benchmark:
        benchmarks("oracle_table", "superpixels")
    resources:
        **resources_of("oracle_table"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal oracle-table {params.inputs} --dataset {params.dataset:q} --out {output}{params.allow}"
        " > {log} 2>&1"


rule features:
    # train.model feature_head: the frozen encoder's taps of every image, computed once.
    input:
        unpack(get_input("features")),
    output:
        results(layout.FEATURES if SHARDS == 1 else layout.FEATURE_SHARD),
    wildcard_constraints:
        encoder=ENCODER_RE,
    params:
        dataset_images=DATASET_IMAGES,  # what the images are: they rerun it
        inputs=input_options,
        dataset=DATASET_JSON,
        shard=shard_options,
    threads: 1
    log:
        logs("features", "features" if SHARDS == 1 else "feature_shard"),
    benchmark:
        benchmarks("features", "features" if SHARDS == 1 else "feature_shard")
    resources:
        **resources_of("features", "gpu"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal features {params.inputs} --dataset {params.dataset:q} --encoder {wildcards.encoder}"
        " {params.shard} --device {resources.device} --threads {threads} --out {output}"
        " > {log} 2>&1"


if SHARDS > 1:

    rule gather_features:
        input:
            unpack(get_input("gather_features")),
        output:
            results(layout.FEATURES),
        wildcard_constraints:
            encoder=ENCODER_RE,
        params:
            inputs=input_options,
        log:
            logs("gather_features", "features"),
        benchmark:
            benchmarks("gather_features", "features")
        resources:
            **resources_of("features"),
        conda:
            "../../envs/asal.yaml"
        shell:
            "asal gather --stage features {params.inputs} --out {output} > {log} 2>&1"
