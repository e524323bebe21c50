using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Stackit.EmbeddingWorker.Diagnostics;

namespace Stackit.EmbeddingWorker.Tests.Infrastructure;

/// <summary>Real instruments on a meter factory of their own, for stages built by hand in a test.</summary>
internal static class TestMetrics
{
    public static WorkerMetrics Create() => new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());
}
