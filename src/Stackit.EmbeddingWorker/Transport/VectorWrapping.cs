using System.Runtime.CompilerServices;
using Google.Protobuf.Collections;
using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.Transport;

/// <summary>
/// Puts a decoded vector into its point without copying it: the point's <see cref="RepeatedField{T}"/> takes the
/// vector's array as its storage. Copying (what <c>Vectors</c>' conversion from <c>float[]</c> does) allocates a
/// second 16 KB array per 4,096-dimension embedding that lives until the upsert is answered, and the garbage
/// collector's work for those arrays was the largest cost in the worker's profile. Neither side may be changed in
/// place afterwards (the array, or the point's vector through its indexer, <c>Clear</c> or <c>Remove</c>: they write
/// into the shared array; <c>Add</c> copies first); nothing in the pipeline changes a vector once it is decoded.
/// </summary>
/// <remarks>
/// The storage is reached through Google.Protobuf's private fields (<c>array</c>, <c>count</c>). If a Google.Protobuf
/// release renames them, <see cref="CanShare"/> turns false and vectors are copied as before;
/// <c>VectorWrappingTests</c> fails on that release, so an upgrade does not lose the saving unnoticed.
/// </remarks>
internal static class VectorWrapping
{
    public static bool CanShare { get; } = Probe();

    public static Vectors Wrap(float[] vector) => new() { Vector = WrapDense(vector) };

    /// <summary>The vector alone, for a point with named vectors.</summary>
    public static Vector WrapDense(float[] vector)
    {
        // The same message as Qdrant.Client's own conversion from float[]: a dense vector.
        var dense = new DenseVector();
        var data = dense.Data;
        if (CanShare)
        {
            StorageOf(data) = vector;
            CountOf(data) = vector.Length;
        }
        else
        {
            data.AddRange(vector);
        }
        return new Vector { Dense = dense };
    }

    private static ref float[] StorageOf(RepeatedField<float> field) => ref Fields<float>.Storage(field);

    private static ref int CountOf(RepeatedField<float> field) => ref Fields<float>.Count(field);

    private static bool Probe()
    {
        try
        {
            var field = new RepeatedField<float> { 1f, 2f, 3f };
            if (CountOf(field) != 3 || StorageOf(field) is not [1f, 2f, 3f, ..])
            {
                return false;
            }
            float[] probe = [4f, 5f];
            StorageOf(field) = probe;
            CountOf(field) = probe.Length;
            return field.Count == 2 && field[1] == 5f;
        }
        catch (MissingFieldException)
        {
            return false;
        }
    }

    /// <summary>The accessors match the field's declared type (<c>T[]</c>), so they are declared for an open generic.</summary>
    private static class Fields<T>
    {
        [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "array")]
        public static extern ref T[] Storage(RepeatedField<T> field);

        [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "count")]
        public static extern ref int Count(RepeatedField<T> field);
    }
}
