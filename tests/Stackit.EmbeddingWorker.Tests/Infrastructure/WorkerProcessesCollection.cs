namespace Stackit.EmbeddingWorker.Tests.Infrastructure;

/// <summary>
/// Tests that run worker processes under load (crash recovery, replicas racing): they run alone, after the others,
/// so their CPU does not stretch the timing of tests that measure a shutdown or a lease on this two-core machine.
/// </summary>
[CollectionDefinition(nameof(WorkerProcessesCollection), DisableParallelization = true)]
public sealed class WorkerProcessesCollection;
