export { startFakeGraph, FaultQueue, FAKE_TLS_DIR, type FakeGraph, type FakeGraphOptions, type FaultSpec, type RequestRecord, type RequestTarget } from './fakeGraphServer';
export { FakeTenant, EXTENSION_ATTRIBUTE_NAMES, seededRandom, type FakeUser, type FakeUserInput, type FakeUserPatch, type FakeGroup, type FakeGroupInput, type GenerateOptions, type ChangeEntry } from './fakeTenant';
export { DeltaRounds, USER_PROPERTIES, GROUP_PROPERTIES, type DeltaKind } from './deltaRounds';
export { TokenService, type AppRegistration, type TokenRequestRecord } from './tokenService';
