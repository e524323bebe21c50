using Google.Protobuf;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Transport;

namespace Stackit.EmbeddingWorker.Tests.Transport;

public sealed class VectorWrappingTests
{
    [Fact]
    public void The_Google_Protobuf_in_use_lets_a_point_share_the_vector_array()
    {
        // Fails when a Google.Protobuf upgrade renames RepeatedField's storage: the worker would then copy every vector again.
        Assert.True(VectorWrapping.CanShare);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(4096)]
    public void A_shared_vector_goes_on_the_wire_exactly_as_a_copied_one(int dimensions)
    {
        var random = new Random(dimensions);
        var vector = Enumerable.Range(0, dimensions).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        Vectors copied = vector;

        var shared = VectorWrapping.Wrap(vector);

        Assert.Equal(copied.ToByteArray(), shared.ToByteArray());
        Assert.Equal(copied, Vectors.Parser.ParseFrom(shared.ToByteArray()));
        Assert.Equal(vector, shared.Vector.Dense.Data);
    }

    [Fact]
    public void The_point_holds_the_vector_itself_and_never_writes_into_it()
    {
        float[] vector = [1f, 2f, 3f];

        var shared = VectorWrapping.Wrap(vector);
        vector[0] = 7f;
        shared.Vector.Dense.Data.Add(4f);

        Assert.Equal([7f, 2f, 3f, 4f], shared.Vector.Dense.Data);
        Assert.Equal([7f, 2f, 3f], vector);
    }
}
