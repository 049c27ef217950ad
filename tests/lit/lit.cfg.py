# lit configuration for nncc's FileCheck tests (tests/lit/**/*.test).
import os
import lit.formats

config.name = "nncc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".test"]
config.excludes = ["Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = getattr(config, "nncc_obj_root", os.path.join(config.test_source_root, "Output"))

tools = getattr(config, "nncc_tools_dir", None)
llvm = getattr(config, "llvm_tools_dir", "/usr/lib/llvm-14/bin")
path = [p for p in (tools and os.path.join(tools, "nncc"), tools and os.path.join(tools, "nncc-run"),
                    tools, llvm) if p]
config.environment["PATH"] = os.pathsep.join(path + [config.environment.get("PATH", os.environ.get("PATH", ""))])
config.substitutions.append(("%examples", os.path.join(getattr(config, "nncc_src_root", ""), "examples")))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))
config.substitutions.append(("%nncc_build", os.path.dirname(tools) if tools else ""))

# %cc / %cxx compile the drivers that link generated objects; in the sanitizer
# build (NNCC_SANITIZE) they carry -fsanitize=..., and every sanitized program
# runs with halt_on_error and the LeakSanitizer suppressions (scripts/lsan.supp).
san_flags = getattr(config, "nncc_sanitize_flags", "")
config.substitutions.append(("%cxx", ("c++ " + san_flags).strip()))
config.substitutions.append(("%cc", ("cc " + san_flags).strip()))
for kv in filter(None, getattr(config, "nncc_sanitize_env", "").split(";")):
    k, v = kv.split("=", 1)
    config.environment[k] = v
if getattr(config, "nncc_sanitize", ""):
    config.available_features.add("sanitizer")
if os.path.isdir("/usr/share/datasets/fashion-mnist"):
    config.available_features.add("fashion-mnist")
if os.path.isfile("/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"):
    config.available_features.add("sklearn-digits")
