namespace Stackit.EmbeddingWorker.Transport;

/// <summary>
/// Where decoded vectors live: arrays on the pinned object heap. A vector lives from its answer until Qdrant has
/// stored it, long enough to survive a collection or two on the ordinary heap, where each survival copies it to
/// compact the heap; pinned arrays are never moved (they are freed by full collections only). See
/// docs/performance.md for the measurements behind it.
/// </summary>
internal static class VectorBuffers
{
    /// <summary>An array for a vector of <paramref name="length"/> values, its contents not cleared.</summary>
    public static float[] Allocate(int length) => GC.AllocateUninitializedArray<float>(length, pinned: true);
}
