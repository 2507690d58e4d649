// The data sets `recc data get NAME` knows: where each official archive is, its pinned SHA-256 and
// size, and for some the SHA-256 of each extracted file (so an already-extracted copy can be checked
// file by file). Data only; cli/datasets/get.ts verifies, downloads and extracts.
//
// Where the pins come from:
// - every archive's SHA-256 and byte size: TensorFlow Datasets' url_checksums/movielens.txt
//   (github.com/tensorflow/datasets, tensorflow_datasets/url_checksums/movielens.txt, commit
//   1c076ac3c19c8ea83e1d1a75e0623c9a699e0d7c), which TFDS verifies every download against;
// - ml-100k's extracted files: computed here (sha256sum) from the copy of ml-100k the project's tests
//   use (../shared/data/ml-100k); the GroupLens archive's allbut.pl and mku.sh (scripts, not data)
//   are not pinned.

export interface DatasetEntry {
  readonly name: string;
  readonly title: string;
  /** the official archive (GroupLens) */
  readonly url: string;
  readonly zip: { readonly sha256: string; readonly bytes: number };
  /** the folder the archive's files sit in (stripped when extracting into CACHE/NAME/) */
  readonly folder: string;
  /** extracted file → SHA-256, for the files pinned one by one (a folder given to --from is checked against these) */
  readonly files?: Readonly<Record<string, string>>;
  /** what a model reads (the README's example line) */
  readonly note: string;
}

const GROUPLENS = 'https://files.grouplens.org/datasets/movielens';
const TFDS = 'TensorFlow Datasets url_checksums/movielens.txt @ 1c076ac';

export const PIN_SOURCES = {
  zip: TFDS,
  files: 'sha256sum of the ml-100k copy in ../shared/data/ml-100k (the tests\' copy)',
} as const;

export const CATALOGUE: readonly DatasetEntry[] = [
  {
    name: 'ml-100k',
    title: 'MovieLens 100K: 100,000 ratings (1–5) of 1,682 movies by 943 users, 1998',
    url: `${GROUPLENS}/ml-100k.zip`,
    zip: { sha256: '50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229', bytes: 4924029 },
    folder: 'ml-100k',
    files: {
      README: '4883b8cf340ed0059971b33f56ad3adc88a40792108ebca3d24aafc4c82e8b52',
      'u.data': '06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490',
      'u.genre': '9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb',
      'u.info': '5b0a40b2e47a729ee6203063f6dcf8790c2e63f5a18663e6ee318a72c5f3c27b',
      'u.item': '553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701',
      'u.occupation': 'cd5fbec9afe345d993a62fc7817df1a4a9079c4feb267b3118763b8fd942137d',
      'u.user': 'f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c',
      'u1.base': 'ce253ec86c448b44fb3ba9a30d12dcfc2e9210cbde71efada3730c22e9ac212a',
      'u1.test': '18c6014a4b2c7324f250a63f8904a7b16b2b19f911129e346141507b0cbac950',
      'u2.base': '6c06f0b5df4b256da1a994f3ac66edc8da4d3f09bc9282df6b14d893366d703e',
      'u2.test': '4de658d1e04ed9104629509a2e2528fce833ac8e048280183f1df167632038c3',
      'u3.base': 'afdc155c291c6edc41c0407e39d7462eb98d341e064f0b0a12175b80b3c4af5d',
      'u3.test': '0f548b51c78327de4c156461d3e430b7e5579fe2b5681586a59416e48fd35f6d',
      'u4.base': '219f0f4d40dfe9c5141d425f53fa91ee23ed275f14e280bbf1b50117afb064ca',
      'u4.test': '7c02ad0a1e7ab1083c8b9d4b627203a051dd7b5eab46d99fa44de33470de8db9',
      'u5.base': 'a9574e59ce961eec2121627760b6e9b0974ce1637b3fe69ac32cb14a4bfab485',
      'u5.test': '351cc52e0d15b6c721466276fc24671d40936899e3d01fadeaf312915b8c5634',
      'ua.base': '67b5bcdb380c29f85d56a012ecd88612ae020f30a6730d117a334ee8203b91f2',
      'ua.test': 'd0497e202417720f57a184ec8c66be2d1afa4ff41bb53787c57b28d6bf79bc42',
      'ub.base': '237254d253b6ad7de84f919d041055428646254f34ed8f562703c899430cd881',
      'ub.test': 'd54a72d05730d5892062734b2bec73e976f9b713d18c828a18b968d6cce442da',
    },
    note: 'u.data (user item rating time, tab-separated): `from "…/ml-100k/u.data" format tsv`',
  },
  {
    name: 'ml-1m',
    title: 'MovieLens 1M: 1,000,209 ratings of 3,706 movies by 6,040 users, 2003',
    url: `${GROUPLENS}/ml-1m.zip`,
    zip: { sha256: 'a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20', bytes: 5917549 },
    folder: 'ml-1m',
    note: 'ratings.dat (user::item::rating::time): `format movielens`',
  },
  {
    name: 'ml-latest-small',
    title: 'MovieLens latest (small): about 100,000 ratings (0.5–5) and tags of 9,000 movies by 600 users',
    url: `${GROUPLENS}/ml-latest-small.zip`,
    zip: { sha256: '696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436', bytes: 978202 },
    folder: 'ml-latest-small',
    note: 'ratings.csv (userId,movieId,rating,timestamp, with a header): `format csv`',
  },
  {
    name: 'ml-20m',
    title: 'MovieLens 20M: 20,000,263 ratings of 27,278 movies by 138,493 users, 2015',
    url: `${GROUPLENS}/ml-20m.zip`,
    zip: { sha256: '96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3', bytes: 198702078 },
    folder: 'ml-20m',
    note: 'ratings.csv (userId,movieId,rating,timestamp, with a header): `format csv`',
  },
  {
    name: 'ml-25m',
    title: 'MovieLens 25M: 25,000,095 ratings of 62,423 movies by 162,541 users, 2019',
    url: `${GROUPLENS}/ml-25m.zip`,
    zip: { sha256: '8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa', bytes: 261978986 },
    folder: 'ml-25m',
    note: 'ratings.csv (userId,movieId,rating,timestamp, with a header): `format csv`',
  },
];

export function findDataset(name: string): DatasetEntry | undefined {
  return CATALOGUE.find((d) => d.name === name);
}
