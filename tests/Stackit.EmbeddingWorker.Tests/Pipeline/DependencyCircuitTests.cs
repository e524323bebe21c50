using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Tests.Pipeline;

public sealed class DependencyCircuitTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly DependencyCircuits _circuits;

    public DependencyCircuitTests() =>
        _circuits = new DependencyCircuits(new CircuitOptions
        {
            FailureThreshold = 3,
            BreakDuration = TimeSpan.FromSeconds(5),
            MaxBreakDuration = TimeSpan.FromSeconds(15),
        }, _time, NullLoggerFactory.Instance);

    [Fact]
    public void Opens_after_the_threshold_of_consecutive_failures_and_a_success_in_between_resets_the_count()
    {
        var circuit = _circuits.Embeddings;
        circuit.Failure("503");
        circuit.Failure("503");
        circuit.Success();
        circuit.Failure("503");
        circuit.Failure("503");
        Assert.Equal(CircuitState.Closed, circuit.State);
        Assert.True(_circuits.TryAdmit(out var probe, out _));
        Assert.False(probe);

        circuit.Failure("503");

        Assert.Equal(CircuitState.Open, circuit.State);
        Assert.False(_circuits.TryAdmit(out _, out var retryIn));
        Assert.Equal(TimeSpan.FromSeconds(5), retryIn);
    }

    [Fact]
    public void After_the_pause_one_probe_is_admitted_and_its_success_closes_the_circuit()
    {
        Open(_circuits.VectorStore);

        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(_circuits.TryAdmit(out var probe, out _));
        Assert.True(probe);
        Assert.Equal(CircuitState.HalfOpen, _circuits.VectorStore.State);
        // No second probe while the first is out.
        Assert.False(_circuits.TryAdmit(out _, out _));

        _circuits.VectorStore.Success();

        Assert.False(_circuits.AnyOpen);
        Assert.True(_circuits.TryAdmit(out probe, out _));
        Assert.False(probe);
    }

    [Fact]
    public void A_failed_probe_reopens_with_a_doubled_pause_up_to_the_maximum()
    {
        var circuit = _circuits.Embeddings;
        Open(circuit);
        var pauses = new List<TimeSpan>();
        for (var round = 0; round < 4; round++)
        {
            Assert.False(_circuits.TryAdmit(out _, out var retryIn));
            pauses.Add(retryIn);
            _time.Advance(retryIn);
            Assert.True(_circuits.TryAdmit(out var probe, out _));
            Assert.True(probe);
            circuit.Failure("still down");
        }

        Assert.Equal([TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(15)], pauses);
    }

    [Fact]
    public void A_probe_that_brings_no_answer_is_followed_by_another_after_the_pause()
    {
        Open(_circuits.Embeddings);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(_circuits.TryAdmit(out _, out _));

        _time.Advance(TimeSpan.FromSeconds(5));

        Assert.True(_circuits.TryAdmit(out var probe, out _));
        Assert.True(probe);
    }

    private static void Open(DependencyCircuit circuit)
    {
        for (var i = 0; i < 3; i++)
        {
            circuit.Failure("unavailable");
        }
        Assert.Equal(CircuitState.Open, circuit.State);
    }
}
