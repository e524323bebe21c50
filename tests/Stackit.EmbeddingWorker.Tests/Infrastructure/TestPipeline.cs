using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Tests.Infrastructure;

/// <summary>A <see cref="PipelineContext"/> for a stage tested on its own; what a test leaves out is a harmless default.</summary>
internal static class TestPipeline
{
    public static PipelineContext Context(
        JobLifecycle? lifecycle = null,
        DependencyCircuits? circuits = null,
        PipelineShutdown? shutdown = null,
        TimeProvider? time = null) =>
        new(lifecycle ?? new JobLifecycle(Channel.CreateUnbounded<JobOutcome>().Writer),
            circuits ?? new DependencyCircuits(new CircuitOptions(), time ?? TimeProvider.System, NullLoggerFactory.Instance),
            shutdown ?? TestShutdown.Create(),
            TestMetrics.Create(),
            time ?? TimeProvider.System);
}
