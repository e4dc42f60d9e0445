# gradwire: the entry point. CMake does the work underneath.
#   make        Release build into build/
#   make test   every test through ctest (gtest output visible)
#   make run    quickstart experiment: 1 server + 4 workers, softmax on Fashion-MNIST, BSP
#   make bench  Google Benchmark apps + push/pull goodput, each beside its reference
#   make windows  incast vs round-robin write windows on an emulated 1 Gbit/s star (root)
#   make tta    time to accuracy under contention: BSP, ASP, SSP, R2SP on that star (root)
#   make asan   ASan + UBSan build in build-asan/ running the same tests
#   make tsan   ThreadSanitizer build in build-tsan/: the transport and ps tests, children too
#   make test-rdma  the same tests in a soft-RoCE VM (real rdma_rxe), RDMA cases active
#   make test-topo  emulated topologies: build each, check reachability, shaped rates, delays
#   make test-launch  hostfile/ssh, Slurm (a local one) and mpirun launches match gradwire run
#   make bench-rdma RDMA write bandwidth/latency beside ib_write_bw/ib_write_lat in that VM
#   make deps   apt-get install whatever of debian-packages.txt is missing (as root)

BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
DEPS_STAMP := $(BUILD)/.deps-ok

.PHONY: all build test run bench bench-rdma coding windows tta asan tsan test-rdma test-topo test-launch deps format clean

all: build

deps:
	@experiments/install-deps.sh debian-packages.txt

$(DEPS_STAMP): debian-packages.txt experiments/install-deps.sh
	@experiments/install-deps.sh debian-packages.txt
	@mkdir -p $(BUILD) && touch $@

$(BUILD)/CMakeCache.txt: $(DEPS_STAMP)
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -V -j 1 --timeout 600

run: build
	experiments/quickstart.sh $(BUILD)/apps/gradwire/gradwire

bench: build
	experiments/bench.sh $(BUILD)

# Coded computation vs stragglers, measured beside the model (~20 min): results/coding/.
coding: build
	experiments/coding.sh $(BUILD)/apps/gradwire/gradwire

# Burst vs round-robin write windows, 8 x 100 MiB pushes through a shaped star (~5 min, root):
# results/windows/.
windows: build
	experiments/windows.sh $(BUILD)/apps/gradwire/gradwire

# Time to accuracy of every sync rule on an emulated 1 Gbit/s star (~8 min, root): results/tta/.
tta: build
	experiments/tta.sh $(BUILD)/apps/gradwire/gradwire

asan:
	@$(MAKE) --no-print-directory test BUILD=build-asan \
	  CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=RelWithDebInfo -DGW_SANITIZE=address,undefined"

# Every test but two, with the server and worker processes they start built under TSan too
# (a report makes a child exit 66, which fails its test). Left out: PsE2eTest, whose
# Fashion-MNIST runs have wall-clock deadlines 5-15x too short under TSan (the same server and
# worker code runs in the Transports/* suites); and R2spTrainsToBspAccuracy, a statistical
# claim about turn timing that TSan's slowdown distorts.
TSAN_CTEST_ARGS ?= -E '^PsE2eTest\.|R2spTrainsToBspAccuracy'
tsan:
	@$(MAKE) --no-print-directory build BUILD=build-tsan \
	  CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=RelWithDebInfo -DGW_SANITIZE=thread"
	cd build-tsan && TSAN_OPTIONS="second_deadlock_stack=1 history_size=4" \
	  ctest --output-on-failure -j 1 --timeout 1800 $(TSAN_CTEST_ARGS)

# The suite in a qemu VM with real soft-RoCE (experiments/softroce-vm/README.md). The VM's
# emulated CPU has no AVX-512: its binaries are built for x86-64-v3 in their own dir. Under
# emulation everything runs ~20-50x slower, so multi-process jobs over TCP stay on the host
# (`make test` runs them): PsE2eTest (TCP-only, assertions about wall-clock time) and the
# /tcp cases of the transport-parameterised end-to-end suites. Every other test, the RDMA
# cases among them, runs in the VM.
VM_BUILD ?= build-vm
RDMA_CTEST_ARGS ?= -E '^PsE2eTest\.|^Transports/.*/tcp '
test-rdma:
	@experiments/softroce-vm/prepare.sh
	@$(MAKE) --no-print-directory build BUILD=$(VM_BUILD) \
	  CMAKE_FLAGS="-DGW_NATIVE=OFF -DCMAKE_CXX_FLAGS=-march=x86-64-v3"
	experiments/softroce-vm/run-in-vm.sh \
	  "cd $(VM_BUILD) && ctest --output-on-failure -V -j 1 --timeout 1800 $(RDMA_CTEST_ARGS)"

# Both as root on this kind of machine (network namespaces; a local Slurm, sshd, mpirun).
test-topo: build
	experiments/topo/test.sh

test-launch: build
	experiments/launch/test.sh $(BUILD)/apps/gradwire/gradwire

# RDMA write bandwidth and latency beside ib_write_bw / ib_write_lat on rxe0, same VM boot.
bench-rdma: $(DEPS_STAMP)
	@experiments/softroce-vm/prepare.sh
	cmake -S . -B $(VM_BUILD) -DCMAKE_BUILD_TYPE=Release -DGW_NATIVE=OFF \
	  -DCMAKE_CXX_FLAGS=-march=x86-64-v3
	cmake --build $(VM_BUILD) -j $(JOBS) --target rdma_write_bench
	experiments/rdma-bench.sh $(VM_BUILD)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf build build-asan build-tsan build-vm
