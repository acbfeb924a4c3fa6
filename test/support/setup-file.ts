import 'reflect-metadata';
// CommonJS packages (@nestjs/throttler, @nestjs/terminus...) require() the ESM @nestjs/* packages.
// Jest refuses require(esm) of a module still being linked in the same graph, so the ESM packages
// are loaded and evaluated here first.
import '@nestjs/common';
import '@nestjs/core';
