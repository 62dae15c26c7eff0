package app

import "google.golang.org/grpc"

type (
	grpcConn = grpc.ClientConn
	grpcOpt  = grpc.CallOption
)
