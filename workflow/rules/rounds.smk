# The active-learning loop. Round t of a method reads round t-1 of the same method; round 0 is
# the warm-up shared by every method of a trial (method folder "warmup").
#
#   predict(t-1) -> merge(t) -> acquire(t) -> query(t) -> sieve(t) -> train(t) -> evaluate(t)
#                                                                              -> predict(t)
#
# Each rule's input files come from get_input (asal.experiment.inputs, named after the stage's
# options) and reach the stage as params.inputs; its settings come as JSON (params.spec).


rule warmup:
    input:
        unpack(get_input("warmup")),
    output:
        results(layout.warmup_file("queries")),
    wildcard_constraints:
        method=WARMUP_RE,
    params:
        inputs=input_options,
        budget=WARMUP_BUDGET,
        seed=config["seed"],
    log:
        logs("warmup", "warmup"),
    benchmark:
        benchmarks("warmup", "warmup")
    resources:
        **resources_of("warmup"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal warmup {params.inputs} --budget {params.budget} --seed {params.seed}"
        " --trial {wildcards.trial} --out {output} > {log} 2>&1"


rule merge:
    input:
        unpack(get_input("merge")),
    output:
        round_file("merged"),
    wildcard_constraints:
        method=METHOD_RE,
        round=r"[1-9]\d*",
    params:
        inputs=input_options,
        spec=lambda wc: spec_json(stage_settings(config, wc.method, "merge", int(wc.round))),
    log:
        logs("merge"),
    benchmark:
        benchmarks("merge")
    resources:
        **resources_of("merge"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal merge {params.inputs} --spec {params.spec:q} --out {output} > {log} 2>&1"


rule acquire:
    input:
        unpack(get_input("acquire")),
    output:
        round_file("queries"),
    wildcard_constraints:
        method=METHOD_RE,
        round=r"[1-9]\d*",
    params:
        inputs=input_options,
        spec=lambda wc: spec_json(stage_settings(config, wc.method, "acquire")),
        budget=config["budget"],
        seed=config["seed"],
    log:
        logs("acquire"),
    benchmark:
        benchmarks("acquire")
    resources:
        **resources_of("acquire"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal acquire {params.inputs} --spec {params.spec:q} --budget {params.budget}"
        " --seed {params.seed} --trial {wildcards.trial} --round {wildcards.round}"
        " --out {output} > {log} 2>&1"


# The oracle. Simulated: the ground truth's dominant label (asal query). Human (oracle: human):
# a local job (it runs where snakemake runs, a laptop or a login node) that serves the
# labelling page, prints its address on the terminal and in the log, and writes the same
# answers.csv and labelled.h5 once every query has an answer (asal annotate).
rule query:
    input:
        unpack(get_input("annotate" if HUMAN else "query")),
    output:
        answers=round_file("answers"),
        labelled=round_file("labelled"),
    wildcard_constraints:
        method=ANY_METHOD_RE,
    localrule: HUMAN
    params:
        dataset_images=DATASET_IMAGES if HUMAN else "",  # the page shows images
        inputs=input_options,
        dataset=DATASET_JSON,
        host=ANNOTATE["host"],
        port=ANNOTATE["port"],
        more=(f"--annotator {shlex.quote(ANNOTATE['annotator'])}" if ANNOTATE["annotator"] else "")
        + (" --finish-when-done" if ANNOTATE["finish_when_done"] else ""),
        title=lambda wc: f"{EXP}: {wc.method}, trial {wc.trial}, round {wc.round}",
        spec=lambda wc: spec_json(stage_settings(config, wc.method, "answer")),
        budget=lambda wc: WARMUP_BUDGET if int(wc.round) == 0 else config["budget"],
    log:
        logs("query"),
    benchmark:
        benchmarks("query")
    resources:
        **resources_of("query"),
    conda:
        "../../envs/asal.yaml"
    shell:
        # Human: the labelling page, its address on the terminal too (tee); simulated: the
        # ground truth's dominant label.
        (
            "asal annotate {params.inputs} --dataset {params.dataset:q}"
            " --spec {params.spec:q} --budget {params.budget}"
            " --round {wildcards.round} --host {params.host} --port {params.port} {params.more}"
            " --title {params.title:q} --answers {output.answers}"
            " --labelled-out {output.labelled} 2>&1 | tee {log}"
            if HUMAN
            else "asal query {params.inputs} --dataset {params.dataset:q}"
            " --spec {params.spec:q} --budget {params.budget}"
            " --round {wildcards.round} --answers {output.answers}"
            " --labelled-out {output.labelled} > {log} 2>&1"
        )


rule sieve:
    input:
        unpack(get_input("sieve")),
    output:
        round_file("sieved"),
    wildcard_constraints:
        method=ANY_METHOD_RE,
    params:
        dataset_images=DATASET_IMAGES,  # what the images are: they rerun it
        inputs=input_options,
        dataset=DATASET_JSON,
        spec=lambda wc: spec_json(stage_settings(config, wc.method, "sieve")),
    threads: 1
    log:
        logs("sieve"),
    benchmark:
        benchmarks("sieve")
    resources:
        **resources_of("sieve", "gpu"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal sieve {params.inputs} --dataset {params.dataset:q} --spec {params.spec:q}"
        " --round {wildcards.round} --device {resources.device} --threads {threads}"
        " --out {output} > {log} 2>&1"


rule train:
    input:
        unpack(get_input("train")),
    output:
        model=round_file("model"),
        log=round_file("train_log"),
    wildcard_constraints:
        method=ANY_METHOD_RE,
    params:
        dataset_images=DATASET_IMAGES,  # what the images are: they rerun it
        inputs=input_options,
        dataset=DATASET_JSON,
        spec=spec_json(train_settings(config)),
        seed=config["seed"],
    threads: config["train"]["threads"]
    log:
        logs("train"),
    benchmark:
        benchmarks("train")
    resources:
        **resources_of("train", "gpu"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal train {params.inputs} --dataset {params.dataset:q} --spec {params.spec:q}"
        " --seed {params.seed} --trial {wildcards.trial} --round {wildcards.round}"
        " --device {resources.device} --threads {threads}"
        " --out {output.model} --log-out {output.log} > {log} 2>&1"


rule evaluate:
    input:
        unpack(get_input("evaluate")),
    output:
        round_file("metrics"),
    wildcard_constraints:
        method=ANY_METHOD_RE,
    params:
        inputs=input_options,
        dataset=DATASET_JSON,
        without_labels=" --without-labels" if HUMAN else "",
    threads: 1
    log:
        logs("evaluate"),
    benchmark:
        benchmarks("evaluate")
    resources:
        **resources_of("evaluate", "gpu"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal evaluate {params.inputs} --dataset {params.dataset:q}"
        " --method {wildcards.method} --trial {wildcards.trial} --round {wildcards.round}"
        " --device {resources.device} --threads {threads}{params.without_labels}"
        " --out {output} > {log} 2>&1"


rule predict:
    input:
        unpack(get_input("predict")),
    output:
        round_file("stats") if SHARDS == 1 else round_file("stats_shard"),
    wildcard_constraints:
        method=ANY_METHOD_RE,
    params:
        dataset_images=DATASET_IMAGES,  # what the images are: they rerun it
        inputs=input_options,
        dataset=DATASET_JSON,
        shard=shard_options,
    threads: 1
    log:
        logs("predict", "round" if SHARDS == 1 else "round_shard"),
    benchmark:
        benchmarks("predict", "round" if SHARDS == 1 else "round_shard")
    resources:
        **resources_of("predict", "gpu"),
    conda:
        "../../envs/asal.yaml"
    shell:
        "asal predict {params.inputs} --dataset {params.dataset:q} {params.shard}"
        " --device {resources.device} --threads {threads} --out {output} > {log} 2>&1"


if SHARDS > 1:

    rule gather_stats:
        input:
            unpack(get_input("gather_stats")),
        output:
            round_file("stats"),
        wildcard_constraints:
            method=ANY_METHOD_RE,
        params:
            inputs=input_options,
        log:
            logs("gather_stats"),
        benchmark:
            benchmarks("gather_stats")
        resources:
            **resources_of("predict"),
        conda:
            "../../envs/asal.yaml"
        shell:
            "asal gather --stage predict {params.inputs} --out {output} > {log} 2>&1"
