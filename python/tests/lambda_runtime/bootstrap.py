import os, sys
sys.path[0:0] = [os.environ["LAMBDA_TASK_ROOT"], os.environ["TEST_OPT"] + "/python"]
from awslambdaric.__main__ import main
main([sys.argv[0], os.environ["_HANDLER"]])
