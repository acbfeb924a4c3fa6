// Minimal typing of the parts of @wavesenterprise/crypto-gost-js this service uses.
declare module '@wavesenterprise/crypto-gost-js' {
  interface GostAlgorithm {
    name: string;
    version?: number;
    mode?: string;
    length?: number;
    namedCurve?: string;
    curve?: { p: string; a: string; b: string; q: string; x: string; y: string };
    procreator?: string;
    keySize?: number;
    hash?: GostAlgorithm;
  }
  interface GostSignCipher {
    generateKey(): { privateKey: ArrayBuffer; publicKey: ArrayBuffer };
    sign(privateKey: ArrayBuffer | Uint8Array, data: ArrayBuffer | Uint8Array): ArrayBuffer;
    verify(
      publicKey: ArrayBuffer | Uint8Array,
      signature: ArrayBuffer | Uint8Array,
      data: ArrayBuffer | Uint8Array,
    ): boolean;
  }
  interface GostDigestCipher {
    digest(data: ArrayBuffer | Uint8Array): ArrayBuffer;
  }
  const gost: {
    GostEngine: {
      getGostSign(algorithm: GostAlgorithm): GostSignCipher;
      getGostDigest(algorithm: GostAlgorithm): GostDigestCipher;
    };
  };
  export default gost;
}
